"""Accounts: sign-in, MFA, sessions, passwords."""

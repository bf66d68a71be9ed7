"""Administration: partner admins (their organisation's users, habilitations, API tokens) and
Caf admins (organisations, contracts, suspensions, audit trail). Declared with the rest of the
shell's pages in ``portal.shell``."""

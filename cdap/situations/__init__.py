"""The unpaid-rent case (« situation »): the social worker's follow-up of a signalled impayé
(offer « impayé de loyer »), its oversight and its figures. See docs/impayes.md.

- ``rules``: working days, due dates, reste-à-vivre (pure);
- ``models``: the case and its contacts, appointments, actions, procedure stages;
- ``access``: who sees which case and which of its fields (``cdap.policy.SUIVI``), read journal;
- ``services``: the state changes (audited); ``forms``, ``views``: the case page;
- ``agenda``: the worker's agenda and the team lead's figures; ``oversight``: dashboard, CSV,
  landlord's view; ``tasks``: retention purge.
"""

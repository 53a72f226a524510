"""The durable outbox, encryption at rest, the sync worker, the platform client and contract,
and the reference platform server. Imports neither kiosk nor screens.

Empty so far: the outbox arrives with the kiosk core, sync with the offline-sync work.
"""

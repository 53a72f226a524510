"""The durable outbox (outbox.py); encryption at rest, the sync worker, the platform client and
contract, and the reference platform server join it. Imports neither kiosk nor screens."""

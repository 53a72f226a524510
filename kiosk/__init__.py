"""The kiosk core: configuration, resident identity, and the command line; the service catalog,
sessions, transactions and documents join it. Never imports Kivy."""

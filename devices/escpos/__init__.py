"""ESC/POS receipt printers: real-time status (pure bytes), transports by URL, the printer."""

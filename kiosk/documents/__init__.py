"""Documents residents take home: certificates (A4 PDF, signed QR) and receipts (ESC/POS).

Pure: data in, bytes out. Printing them is the printers' business (devices/)."""

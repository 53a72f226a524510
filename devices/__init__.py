"""Devices: interfaces, the URL registry, drivers and simulators.

Imports neither kiosk nor screens. Protocol code is bytes in, bytes out; transports only move
bytes; simulators implement the same interfaces and import no protocol code.
"""

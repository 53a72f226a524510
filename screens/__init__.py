"""The Kivy touchscreen application: the only package that imports Kivy.

Empty so far: the resident's screens arrive with the touchscreen work. Until then `kiosk run`
checks the devices from the console (kiosk.console).
"""

"""Simulated devices, written from ../shared/reference; they import no protocol code."""

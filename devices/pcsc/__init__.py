"""PC/SC readers (pyscard) for social security cards: APDUs (pure) and the reader."""

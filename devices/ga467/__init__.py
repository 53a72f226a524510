"""GA/T 467 SAM readers for second-generation ID cards: protocol (pure bytes), text blocks, and
the serial reader. Written from ../shared/reference/id-cards.md, section 1."""

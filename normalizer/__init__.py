"""Pure text processing: clean text, personal data, places, class, agency, duplicates."""

"""Evidence: the recorder (steps, exchanges, HARs), redaction, safe text, report writing and the evidence pack."""

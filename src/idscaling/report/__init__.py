"""Stage 9: the summary tables (JSON results -> CSV) and the report's figures."""

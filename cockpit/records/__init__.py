"""The release's written record, made from its journal: facts, one-liner, RCA, report, replay, exports."""

"""The false-alarm sweep: random well-formed scenarios (gen), checked on several presets
(run), every distinct violation matched against a triage table (triage)."""

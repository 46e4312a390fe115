"""c2hunt: the app's pure library (parsing, kernels, scoring, chunked protocol I/O).

No splunkd imports here: bin/ adapters hand columns to these functions.
"""

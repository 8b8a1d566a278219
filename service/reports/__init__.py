"""Reports: canonical JSON, digests and the per-project chain they are stored in, and their
rendering for people (HTML, Markdown).
"""

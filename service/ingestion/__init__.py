"""Ingestion: native events validated into their normal form, request bodies decoded
(bounded, gzip undone), batches deduplicated and stored in bulk, within a per-project
rate limit. Every ingestion route, native or vendor, ends here.
"""

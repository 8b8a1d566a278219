"""Audits: the request and its plan, the durable job queue, the runner that turns stored
events into a report, the workers, analysis split over cores, and offline audits of
event files.
"""

"""Validation of the audit's models on simulated products with known answers: the validation
bars (`python -m validation.validate`), the second, independent product simulator
(`validation.fieldsim`) and the refit of the schedule-confidence calibration
(`python -m validation.calibrate`). Nothing here runs inside the service."""

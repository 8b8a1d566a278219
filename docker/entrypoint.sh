#!/bin/sh
# Container start: bring the schema up to date, then serve (or run what was asked).
set -e
retention-audit migrate
if [ "$#" -eq 0 ]; then
    exec retention-audit serve --host 0.0.0.0 --port "${PORT:-8000}" --workers "${WORKERS:-2}"
fi
exec retention-audit "$@"

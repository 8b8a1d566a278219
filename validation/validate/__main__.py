"""`python -m validation.validate`: measure and print every validation bar."""

from validation.validate.cli import main

raise SystemExit(main())

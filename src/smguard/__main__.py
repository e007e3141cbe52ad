"""Allow ``python -m smguard``."""

from smguard.cli import main

raise SystemExit(main())

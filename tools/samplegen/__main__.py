"""``python -m tools.samplegen --out sample_media`` regenerates the committed sample media (see its ``cli``)."""

from tools.samplegen.cli import main

raise SystemExit(main())

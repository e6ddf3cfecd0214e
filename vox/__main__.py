import sys

from vox.cli import main

sys.exit(main())

"""`python -m srino_jax.synthetic`: write a synthetic PanCollection dataset."""

import sys

from srino_jax.synthetic.generate import main

sys.exit(main())

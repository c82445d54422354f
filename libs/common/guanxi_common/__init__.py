"""Guanxi common library: what every service gets once."""
import warnings

# Nameko 2 is built on eventlet; its deprecation notice says nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

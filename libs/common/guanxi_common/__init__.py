"""Guanxi common library: what every service gets once."""

"""amgap: measure and close the amortization gap of neural video codecs."""

__version__ = "0.1.0"

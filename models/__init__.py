"""The four papers' own methods (GL-GAN, BRC, LGA, HDCGAN). Each module registers itself in ganrepro.registry."""

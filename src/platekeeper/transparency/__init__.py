"""The public face (Civil Code 1798.90.51(b), 1798.90.53(b)): the posted usage and privacy policy generated from the
enforced config, its versions, and the live transparency page of aggregate figures."""

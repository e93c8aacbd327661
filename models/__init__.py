"""Network builders (Functional API, standard Keras layers only) and GAN trainers."""

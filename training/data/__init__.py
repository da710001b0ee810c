"""Dataset fetching, building, cleaning, visualizing and loading."""

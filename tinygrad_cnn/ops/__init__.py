"""Op families: one small Function subclass per op, working on raw ndarrays."""

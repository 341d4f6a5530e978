// Experiments module: whole runs over every stage (demo, one-class benchmark).

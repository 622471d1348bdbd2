# A program of the user's built with a library that builds with CMake (json-c).
depends = ["jsonc"]
libs = ["json-c"]

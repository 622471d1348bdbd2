# A program of the user's built with a library: against a sysroot holding zlib alone.
depends = ["zlib"]
libs = ["z"]

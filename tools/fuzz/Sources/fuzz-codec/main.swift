FuzzDriver.run(fuzzCodec)

FuzzDriver.run(fuzzIDX)

FuzzImportSeeds.writeIfAsked()
FuzzDriver.run(fuzzImport)

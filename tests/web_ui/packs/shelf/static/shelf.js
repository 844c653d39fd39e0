// shelf test pack

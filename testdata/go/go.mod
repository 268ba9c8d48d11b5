module kiln/testdata/go

go 1.19

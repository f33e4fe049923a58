module github.com/libclv/clv-go

go 1.19

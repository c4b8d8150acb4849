module github.com/rbmgpu/rbmgpu

go 1.26.8

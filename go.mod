module github.com/wharfhq/wharf

go 1.26.8

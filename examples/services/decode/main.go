// Command decode is the image pipeline's decode service: it reads one image file
// and writes another (see the imagework package for what it does).
//
//	decode -in IN -out OUT
package main

import "github.com/rightsize/rightsize/examples/services/imagework"

func main() { imagework.Main(imagework.DecodeService) }

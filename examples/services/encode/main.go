// Command encode is the image pipeline's encode service: it reads one image file
// and writes another (see the imagework package for what it does).
//
//	encode -in IN -out OUT [-format png|jpeg]
package main

import "github.com/rightsize/rightsize/examples/services/imagework"

func main() { imagework.Main(imagework.EncodeService) }

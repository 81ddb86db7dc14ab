// Command resize is the image pipeline's resize service: it reads one image file
// and writes another (see the imagework package for what it does).
//
//	resize -in IN -out OUT [-scale 0.5]
package main

import "github.com/rightsize/rightsize/examples/services/imagework"

func main() { imagework.Main(imagework.ResizeService) }

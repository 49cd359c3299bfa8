// The subset of BVLC caffe.proto (https://github.com/BVLC/caffe/blob/master/src/caffe/proto/caffe.proto)
// that holds trained weights. Field numbers are caffe.proto's. One deliberate difference: BlobProto's
// `repeated float data = 5 [packed = true]` (and double_data = 8) are declared `bytes` here. A packed
// field is one length-delimited record on the wire, so the decoder hands over the raw little-endian
// floats as a view instead of building a JS array of 61 million numbers for fc6.
export const CAFFE_PROTO = `
syntax = "proto2";
package caffe;

message BlobShape {
  repeated int64 dim = 1 [packed = true];
}

message BlobProto {
  optional BlobShape shape = 7;
  optional bytes data = 5;
  optional bytes double_data = 8;
  optional int32 num = 1 [default = 0];
  optional int32 channels = 2 [default = 0];
  optional int32 height = 3 [default = 0];
  optional int32 width = 4 [default = 0];
}

message NetParameter {
  optional string name = 1;
  repeated LayerParameter layer = 100;
  repeated V1LayerParameter layers = 2;
}

message InnerProductParameter {
  optional uint32 num_output = 1;
  optional bool bias_term = 2 [default = true];
  optional int32 axis = 5 [default = 1];
  optional bool transpose = 6 [default = false];
}

message ConvolutionParameter {
  optional uint32 num_output = 1;
  optional bool bias_term = 2 [default = true];
  optional uint32 group = 5 [default = 1];
}

message LayerParameter {
  optional string name = 1;
  optional string type = 2;
  repeated BlobProto blobs = 7;
  optional ConvolutionParameter convolution_param = 106;
  optional InnerProductParameter inner_product_param = 117;
}

// V1LayerParameter.type is the LayerType enum: CONVOLUTION = 4, INNER_PRODUCT = 14 (kept as an int here)
message V1LayerParameter {
  optional string name = 4;
  optional int32 type = 5;
  repeated BlobProto blobs = 6;
  optional ConvolutionParameter convolution_param = 10;
  optional InnerProductParameter inner_product_param = 17;
}
`;

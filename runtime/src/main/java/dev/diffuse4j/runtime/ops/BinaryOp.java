package dev.diffuse4j.runtime.ops;

/** Elementwise functions of two tensors, with numpy broadcasting. */
public enum BinaryOp { ADD, SUB, MUL, DIV, MAX, MIN }

/* The C ABI of mlopsctl-torch-model.so, the plugin through which mlopsctl's
 * predict and serve commands run TorchScript models. The plugin links libtorch;
 * mlopsctl dlopen()s it only when a torch model is used, so other commands never
 * pay libtorch's start-up cost. Plain C, no torch types: any C or C++ program
 * can use it.
 *
 * Ownership: every char* the plugin returns is freed with
 * mlops_torch_model_free_string; a model handle with mlops_torch_model_free.
 * Concurrency: one handle may serve predict calls from several threads at once.
 */
#ifndef MLOPS_TORCH_MODEL_ABI_H
#define MLOPS_TORCH_MODEL_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLOPS_TORCH_MODEL_ABI_VERSION 2

/* predict's result codes. */
#define MLOPS_TORCH_MODEL_OK 0
#define MLOPS_TORCH_MODEL_BAD_INPUT 1 /* the caller's input is wrong: a 400 for a server */
#define MLOPS_TORCH_MODEL_FAILED 2    /* the model failed: a 500 */

typedef struct mlops_torch_model mlops_torch_model;

/* The ABI version the plugin was built with; callers refuse a mismatch. */
int mlops_torch_model_abi_version(void);

/* Loads a TorchScript file (torch::jit::load) and, when preprocess_path is not
 * NULL, the preprocess.json written by training (the feature encoding fitted on
 * the training split). Returns NULL on failure with *error set to a message. */
mlops_torch_model* mlops_torch_model_load(const char* model_path, const char* preprocess_path, char** error);

/* Runs the model on input_json and sets *output to JSON text.
 *   With preprocess.json: input is one object or an array of objects keyed by
 *   feature name; output is an array of {"prediction": label, "probabilities":
 *   {label: p}} (classification) or {"prediction": number} (regression).
 *   Without: input is an array of rows, each an array of numbers (the model's
 *   float32 input row); output is an array of rows of numbers.
 * Returns MLOPS_TORCH_MODEL_OK, or BAD_INPUT / FAILED with *output set to the
 * error message. */
int mlops_torch_model_predict(mlops_torch_model* model, const char* input_json, char** output);

/* The tensor math alone, for a caller that encodes rows itself with the same
 * preprocess.json (mlopsctl does: a prediction then crosses the ABI as floats,
 * not as JSON text parsed and printed on both sides). Runs the model on `rows` x
 * `width` float32 inputs, row-major, and sets *output to a malloc'ed array of
 * rows x *outputs_per_row float32 values (free it with
 * mlops_torch_model_free_floats). Returns MLOPS_TORCH_MODEL_OK, or BAD_INPUT /
 * FAILED with *error set to the message (freed with mlops_torch_model_free_string). */
int mlops_torch_model_forward(mlops_torch_model* model, const float* input, size_t rows, size_t width, float** output,
                              size_t* outputs_per_row, char** error);
void mlops_torch_model_free_floats(float* values);

/* JSON describing the model: {"abi", "model", "preprocess", "task", "inputs": [names],
 * "classes": [...], "torch_version"}. NULL only when out of memory. */
char* mlops_torch_model_info(mlops_torch_model* model);

void mlops_torch_model_free_string(char* s);
void mlops_torch_model_free(mlops_torch_model* model);

#ifdef __cplusplus
}
#endif

#endif
